# C types for compiling covet/_router_py.py as covet._speedups._router (an augmenting .pxd:
# the .py stays the only source, so the twins cannot drift).

cimport cython


cdef class _Node:
    cdef public dict static
    cdef public list dynamic
    cdef public list values


cdef class Matcher:
    cdef _Node _root


@cython.locals(segment=str, entry=list, kind=Py_ssize_t, rule=Py_ssize_t, child=_Node)
cdef object _walk(_Node node, list segments, Py_ssize_t index, Py_ssize_t count, tuple params, list found)
cdef tuple _convert_groups(object match, tuple names)
