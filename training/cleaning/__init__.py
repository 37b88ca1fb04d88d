"""Dataset clean-up before the teacher labels: framed photos straightened, turned photos turned back, near-duplicate shots grouped."""
