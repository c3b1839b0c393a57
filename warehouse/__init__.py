"""The DuckDB warehouse: schema migrations, connections, loading and publishing."""
