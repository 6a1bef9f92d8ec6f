// The scanner is inline in include/byte_scan.h; this file makes the target a C library.
#include "byte_scan.h"
