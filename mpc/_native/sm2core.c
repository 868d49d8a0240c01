/* Area 'sm2core' of the native core: placeholder until its issue lands. */
#include "rs.h"

PyMethodDef rs_sm2core_methods[] = {{NULL, NULL, 0, NULL}};

int rs_sm2core_init(PyObject *module)
{
    (void)module;
    return 0;
}
