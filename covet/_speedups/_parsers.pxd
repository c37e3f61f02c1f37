# C types for compiling covet/_parsers_py.py as covet._speedups._parsers (an augmenting .pxd:
# the .py stays the only source, so the twins cannot drift).

cimport cython

cdef tuple _split_param(str text)

cdef dict _PLAIN_BOOLS
cpdef object plain_int(str raw)
cpdef object plain_bool(str raw)

@cython.locals(text=str, fields=list, pairs=list, field=str, key=str, value=str, escaped=bint)
cpdef list parse_query_string(object raw, Py_ssize_t max_fields=*)

@cython.locals(first=dict, key=str, value=str)
cpdef dict parse_query_first(object raw, Py_ssize_t max_fields=*)
