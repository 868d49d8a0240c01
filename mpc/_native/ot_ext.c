/* Area 'ot', extension kernels: filled in by the IKNP/KOS/KKRT part. */
#include "ot.h"

PyMethodDef rs_ot_ext_methods[] = {{NULL, NULL, 0, NULL}};

int rs_ot_ext_init(PyObject *module)
{
    (void)module;
    return 0;
}
