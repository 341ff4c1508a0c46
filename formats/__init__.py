"""File formats and loaders: the registry CSV, rollup Parquet, JSON Schemas."""
