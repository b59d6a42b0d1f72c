"""CSV imports of districts, listings, units, staff and deals (formats in ARCHITECTURE.md).

Each importer validates every row, reports bad rows with their line number, writes the good ones in
batches, and updates rows that already exist instead of duplicating them. The command line and the
staff console's upload both call these functions.
"""

from storage.importers.common import CsvFormatError, ImportReport, ProgressCallback
from storage.importers.deals import DEAL_COLUMNS, import_deals
from storage.importers.districts import DISTRICT_COLUMNS, import_districts
from storage.importers.listings import LISTING_COLUMNS, import_listings
from storage.importers.staff import STAFF_COLUMNS, StaffImport, import_staff
from storage.importers.units import UNIT_COLUMNS, import_units

__all__ = [
    "DEAL_COLUMNS", "DISTRICT_COLUMNS", "LISTING_COLUMNS", "UNIT_COLUMNS", "CsvFormatError", "ImportReport",
    "ProgressCallback", "import_deals", "import_districts", "import_listings", "import_units", "STAFF_COLUMNS",
    "StaffImport", "import_staff",
]
