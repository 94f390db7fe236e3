"""``python -m savbench`` (also what ``accelerate launch -m savbench`` and ``torchrun -m`` start)."""

import sys

from savbench.cli import main

sys.exit(main())
