"""Routes of the web application: REST API and HTML pages."""
