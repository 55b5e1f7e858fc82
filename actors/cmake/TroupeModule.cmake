# troupe_add_module(): defined by actors/codegen work in progress.
