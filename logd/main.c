/* dnstrail-logd: placeholder until the stage lands. */
#include "log.h"
#include "opt.h"

#include <string.h>

int main(int argc, char **argv)
{
	log_init("dnstrail-logd");
	if (argc > 1 && strcmp(argv[1], "--version") == 0)
		opt_version();
	die(1, "not implemented yet");
}
