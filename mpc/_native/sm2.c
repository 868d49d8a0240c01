/* Area 'sm2' of the native core: placeholder until its issue lands. */
#include "rs.h"

PyMethodDef rs_sm2_methods[] = {{NULL, NULL, 0, NULL}};

int rs_sm2_init(PyObject *module)
{
    (void)module;
    return 0;
}
