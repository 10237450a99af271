"""Generated protocol buffer code for `proto/t2r.proto` (committed; no protoc needed)."""
