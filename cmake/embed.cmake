# embed.cmake - writes a C file defining `const char NAME[]` (the bytes of INPUT, NUL-terminated)
# and `const size_t NAME_len`. Run as: cmake -DINPUT=f -DOUTPUT=f.c -DNAME=sym -P embed.cmake
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUTPUT} "/* generated from ${INPUT} by cmake/embed.cmake */\n#include <stddef.h>\n"
     "const char ${NAME}[] = {\n${bytes}0};\nconst size_t ${NAME}_len = ${len};\n")
