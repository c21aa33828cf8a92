"""The planning workspace in the browser (`horizon serve`): app.py (the web app and its
sessions), workspace.py (settings, runs, differences, uploads), worker.py (solves in a child
process), server.py (running it), static/ (the page, its script and its styles; the map draws the basemap the reports ship)."""
