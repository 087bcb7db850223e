#!/usr/bin/env bash
# One connection of a demo server (socat runs this per connection, stdin/stdout = the socket).
# Reads the request head (up to the blank line, or EOF for a non-HTTP client) and answers a small
# HTTP/1.0 response naming this server, so `curl` through skjold shows which server answered.
# Usage: demo-backend.sh NAME PORT
name=${1:-demo} addr=127.0.0.1:${2:-?} first=
for (( i = 0; i < 100; i++ )); do            # bounded: a head has far fewer lines
    IFS= read -r -t 5 line || break
    line=${line%$'\r'}
    [ -z "$first" ] && first=$line
    [ -z "$line" ] && break
done
body="hello from $name ($addr), you sent: ${first:-nothing}"$'\n'
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#body}" "$body"
