#!/usr/bin/env python3
import os

print("pid", os.getpid())
input("start: press Enter to build a list of 10,000,000 ints\n")

# step 1: build a list of the integers 0..10,000,000
numbers = list(range(10_000_000))

input(f"built a list of {len(numbers)} ints: press Enter to del it\n")

# step 2: delete the list
del numbers

input("deleted the list: press Enter to exit\n")
