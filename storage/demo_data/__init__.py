"""Small data files the demo seed reads (districts, FAQ, canned replies); no third-party assets."""
