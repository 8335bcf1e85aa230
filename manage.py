#!/usr/bin/env python
from chatportal.cli import main

if __name__ == "__main__":
    main()
