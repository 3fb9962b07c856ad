"""`python -m bench.scale`: see bench/scale/run.py."""

from bench.scale.run import main

raise SystemExit(main())
