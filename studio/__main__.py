import sys

from studio.cli.main import main

if __name__ == "__main__":  # not when a child process of ours (the load test's probe) imports it again
    sys.exit(main())
