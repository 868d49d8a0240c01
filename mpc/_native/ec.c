/* Area 'ec' of the native core: placeholder until its issue lands. */
#include "rs.h"

PyMethodDef rs_ec_methods[] = {{NULL, NULL, 0, NULL}};

int rs_ec_init(PyObject *module)
{
    (void)module;
    return 0;
}
