# Script mode helper for agora_embed: IN, OUT, VAR.
file(READ ${IN} text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE ${OUT} "/* Generated from ${IN}; do not edit. */\nextern const char ${VAR}[];\nconst char ${VAR}[] = \"${text}\";\n")
