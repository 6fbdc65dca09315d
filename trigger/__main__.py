"""`python -m trigger`: the same command line as `trigger`, for when the script is not on PATH
(a Windows scheduled task, a locked-down desktop)."""

from cli import main

if __name__ == "__main__":
    main()
