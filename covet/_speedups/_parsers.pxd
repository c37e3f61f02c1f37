# C types for compiling covet/_parsers_py.py as covet._speedups._parsers (an augmenting .pxd:
# the .py stays the only source, so the twins cannot drift).

cimport cython

cdef object _PARAM_DELIMITER
cdef object _QUOTED_STRING

cdef void _add_param(dict params, str part) except *
cdef object _too_many_params(Py_ssize_t limit)

@cython.locals(end=Py_ssize_t, start=Py_ssize_t, position=Py_ssize_t, count=Py_ssize_t, quotes=Py_ssize_t, index=Py_ssize_t, params=dict)
cpdef tuple parse_content_type(object raw, Py_ssize_t max_params=*, Py_ssize_t max_length=*)

cdef dict _PLAIN_BOOLS
cpdef object plain_int(str raw)
cpdef object plain_bool(str raw)

@cython.locals(text=str, fields=list, pairs=list, field=str, key=str, value=str, escaped=bint)
cpdef list parse_query_string(object raw, Py_ssize_t max_fields=*)

@cython.locals(first=dict, key=str, value=str)
cpdef dict parse_query_first(object raw, Py_ssize_t max_fields=*)

@cython.locals(length=object, chunked=bint, key=object, value=object)
cpdef object framing_error(object raw_headers)
