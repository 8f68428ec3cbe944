// Empty functions whose execution marks where an invoke and each profiled layer begin and end.
// They do nothing on the board (a call and a return, a few cycles); in QEMU the instruction-class
// plugin (firmware/qemu_plugin/insn_classes.c) watches their addresses, taken from the ELF's
// symbol table, to attribute executed instructions to layers.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

void tinyml_trace_invoke_begin(void);
void tinyml_trace_invoke_end(void);
void tinyml_trace_layer_begin(void);
void tinyml_trace_layer_end(void);

#ifdef __cplusplus
}
#endif
