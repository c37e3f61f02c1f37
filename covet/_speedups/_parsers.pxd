# C types for compiling covet/_parsers_py.py as covet._speedups._parsers (an augmenting .pxd:
# the .py stays the only source, so the twins cannot drift).

cdef tuple _split_param(str text)

cdef dict _PLAIN_BOOLS
cpdef object plain_int(str raw)
cpdef object plain_bool(str raw)
