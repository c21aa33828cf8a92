"""Instance data: load YAML/JSON/CSV, validate against the schema, freeze an immutable `Instance`."""
