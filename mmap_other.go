//go:build !unix

package aio

func mapAnon(n int) ([]byte, error) { return nil, ErrNotSupported }

func unmap(m []byte) error { return ErrNotSupported }
