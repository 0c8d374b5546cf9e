/* llama.cpp's C API and ggml's CPU threadpool, found through pkg-config (llama.pc from `make engine`). */
#include <llama.h>
#include <ggml-cpu.h>
