"""Pure rules: values in, decisions out. No I/O, no clock reads, no settings lookups."""
