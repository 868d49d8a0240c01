/* Internal declarations shared by the files of area 'ot' (ot.c, ot_ext.c). */
#ifndef RS_OT_H
#define RS_OT_H

#include "rs.h"

#define OT_SID_SIZE 16
#define OT_KEY_SIZE 16
#define OT_TAG_SIZE 16

/* Method table and initialiser of the extension kernels (ot_ext.c), merged into rs_ot_methods. */
extern PyMethodDef rs_ot_ext_methods[];
int rs_ot_ext_init(PyObject *module);

#endif
