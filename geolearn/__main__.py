import sys

from geolearn.cli import main

sys.exit(main())
