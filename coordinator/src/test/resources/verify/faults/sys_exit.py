# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Raises SystemExit at import.
import sys

sys.exit(3)
