# bench/cube.mk - builds the cube benchmark on top of the main Makefile (not part of `make`).
#   make -f bench/cube.mk BUILD=build-cube cube-bench && build-cube/rel/bench/cube_bench
include Makefile

.PHONY: cube-bench
cube-bench: $(OUT)/bench/cube_bench

$(OUT)/bench/cube_bench: bench/cube_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDOPT) $(LDLIBS_ALL)
