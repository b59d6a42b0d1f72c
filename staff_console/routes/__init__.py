"""One module per console area. Each has `setup(app)` adding its routes and may list `NAV` entries;
staff_console.app.ROUTE_MODULES names them."""
