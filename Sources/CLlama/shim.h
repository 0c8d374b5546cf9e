/* llama.cpp's C API, found through pkg-config (llama.pc from `make engine`). */
#include <llama.h>
