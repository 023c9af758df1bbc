import sys

from n9s.cli import main

sys.exit(main())
