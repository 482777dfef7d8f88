#ifndef RACKVM_VERSION_H
#define RACKVM_VERSION_H
#define RACKVM_VERSION "0.1.0"
#endif
