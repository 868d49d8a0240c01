/* Area 'ot' of the native core: placeholder until its issue lands. */
#include "rs.h"

PyMethodDef rs_ot_methods[] = {{NULL, NULL, 0, NULL}};

int rs_ot_init(PyObject *module)
{
    (void)module;
    return 0;
}
