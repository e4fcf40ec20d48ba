# SPDX-License-Identifier: EUPL-1.2
# bench/cube.mk - builds the cube benchmarks on top of the main Makefile (not part of `make`).
#   make -f bench/cube.mk BUILD=build-cube cube-bench && build-cube/rel/bench/cube_bench
# cube_bench: synthetic stock made in memory; cube_files: a generated stock read from files.
include Makefile

.PHONY: cube-bench
cube-bench: $(OUT)/bench/cube_bench $(OUT)/bench/cube_files

$(OUT)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDOPT) $(LDLIBS_ALL)
