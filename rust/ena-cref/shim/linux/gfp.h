/* ENA Lab shim: see ena_shim.h */
#include "../ena_shim.h"
