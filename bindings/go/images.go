package diffuse

import "diffuse/internal/native"

// Images are images handed in by the host: len(Pixels) / (Height*Width*Channels) images, each
// row-major HWC (channels innermost, as PNG decoders produce), and optionally one class label per
// image (Labels nil: unlabeled). They cross into the library with one bulk copy; the library copies
// what it needs before the call that takes them returns.
type Images struct {
	Pixels                  []byte
	Labels                  []int64
	Height, Width, Channels int
}

// Count is the number of whole images Pixels holds.
func (im *Images) Count() int {
	perImage := im.Height * im.Width * im.Channels
	if perImage <= 0 {
		return 0
	}
	return len(im.Pixels) / perImage
}

var noImages = native.SwigcptrImages(0) // NULL: none

// toNative copies im into the facade's Images (nil: NULL); free it with the returned function.
func (im *Images) toNative() (native.Images, func()) {
	if im == nil {
		return noImages, func() {}
	}
	n := native.NewImages()
	n.Set_pixels(im.Pixels, im.Height, im.Width, im.Channels)
	if im.Labels != nil {
		n.Set_labels(im.Labels)
	}
	return n, func() { native.DeleteImages(n) }
}
