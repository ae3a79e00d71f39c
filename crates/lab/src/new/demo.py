#!/usr/bin/env python3
# LABNAME: the demo of a pmap lab (docs/writing-labs.md explains the format).
#
# The prompt protocol: the program prints a line, then waits for a line on
# stdin (input). lab captures the memory map while it waits: once at the
# start (step 0) and once after each action, so a lab of steps 0 to 2
# prompts 3 times. A step's code starts at a `step N:` comment and ends at
# the next blank line: lab shows those lines as what the program just did.
import mmap
import os

SIZE = 16 * 1024 * 1024

print("pid", os.getpid())
input("start: press Enter to mmap 16 MiB\n")

# step 1: map 16 MiB of private anonymous memory
block = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE)

input("mapped 16 MiB: press Enter to write every page\n")

# step 2: write one byte in every page
for offset in range(0, SIZE, mmap.PAGESIZE):
    block[offset] = 1

input(f"wrote every {mmap.PAGESIZE}-byte page: press Enter to exit\n")
