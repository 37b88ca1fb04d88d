"""``python -m training <stage>``: run a pipeline stage without DVC."""

from training.cli import main

raise SystemExit(main())
