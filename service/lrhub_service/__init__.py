"""lrhub server: schedule engine, REST API and storage."""
