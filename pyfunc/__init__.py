"""What the served model needs and nothing else; shipped inside the model with code_paths."""
