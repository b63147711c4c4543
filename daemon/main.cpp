#include "app/cli.h"

int main(int argc, char** argv) { return capi::app::runCli(argc, argv); }
