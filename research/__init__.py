"""Research pipelines built on t2r (each project in its own subpackage)."""
