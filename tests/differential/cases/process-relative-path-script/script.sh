#!/bin/sh
echo "script got $1"
