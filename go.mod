module github.com/linuxaio/aio

go 1.24
