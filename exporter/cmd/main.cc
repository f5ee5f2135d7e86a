#include "exporter/app.h"

int main(int argc, char** argv) { return mailhealth::RunExporter(argc, argv); }
